"""Statements of reasons in the shape of the EU DSA Transparency Database: the rules
(``dsa``), how tangkal fills a platform's answer from its order (``fill``) and the public
export of the platforms' statements and the regulator's own decisions (``export``)."""
