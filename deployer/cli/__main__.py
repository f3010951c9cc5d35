"""`python -m deployer.cli`: the same entry point as the `deployer` console script."""

from deployer.cli.app import main

main()
