"""tac-bootstrap: scaffold an agentic layer and its orchestrator database into a repository."""

__version__ = "0.1.0"
