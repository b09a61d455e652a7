"""`python -m uptake.serve` runs the same command as `uptake serve`, with the same one-line errors."""

import sys

from uptake.cli.serve import app
from uptake.errors import UptakeError


def main() -> None:
    try:
        app(standalone_mode=False)
    except UptakeError as error:
        sys.stderr.write(f"error: {error}\n")
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
