"""The epoch protocol of DESIGN.md, built on the layers below (net, chain, zk, robust,
learn); nothing below imports it."""
