from p2pfl.cli import main

main()
