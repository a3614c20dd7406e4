"""Allow ``python -m tac_bootstrap``."""

from tac_bootstrap.cli.entry import main

if __name__ == "__main__":
    main()
