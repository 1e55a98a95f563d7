"""Configuration: where vadlit's Hydra config tree is found, and the resolvers its configs use.

Importing these modules changes nothing; the entry points register the resolvers when they start
(`vadlit.cli.process`).
"""
