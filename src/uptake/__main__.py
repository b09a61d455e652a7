from uptake.cli.main import main

main()
