"""ADW modules: the orchestrator database runtime, shared by tac-bootstrap and the projects it
generates (copied there as adws/adw_modules/ and kept identical by `tac-bootstrap render`)."""
