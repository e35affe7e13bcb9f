"""One module per subcommand; ``pathprobe.cli`` registers them on the app."""
