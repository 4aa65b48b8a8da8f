"""One module per CLI subcommand: HELP, add_arguments(parser), run(args) -> exit code.
Import nothing heavy at module level (torch, scipy, timm, h5py, matplotlib): import inside run()."""
