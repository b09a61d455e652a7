"""Apply: sector tasks in one file — run, score, and choose the smallest model that does the job."""
