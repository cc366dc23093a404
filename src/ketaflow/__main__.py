from ketaflow.cli import main

main()
