from rollgate_cli.main import main

main()
