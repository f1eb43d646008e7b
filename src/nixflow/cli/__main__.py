"""`python -m nixflow.cli`, as the tests and benchmarks run it."""

from nixflow.cli import main

if __name__ == "__main__":
    main()
