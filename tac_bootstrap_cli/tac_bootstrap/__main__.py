"""Allow ``python -m tac_bootstrap``."""

from tac_bootstrap.cli.entry import console_script

if __name__ == "__main__":
    console_script()
