from twinverse.cli import main

main()
