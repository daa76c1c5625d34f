"""``python -m senti.cli``: the same as the ``senti`` command."""

from senti.cli import main

if __name__ == "__main__":
    main()
