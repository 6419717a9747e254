from vericount.cli import main

main()
