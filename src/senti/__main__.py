"""``python -m senti``: the same as the ``senti`` command."""

from senti.cli import main

if __name__ == "__main__":
    main()
