"""Compliance: whether each ISP's resolvers answer as the decision says (probes per resolver
and name, their history, serial lag), in the spirit of OONI's DNS consistency test."""
