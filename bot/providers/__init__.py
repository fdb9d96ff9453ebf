"""Video backends behind one interface; `build_provider` picks the configured one."""
