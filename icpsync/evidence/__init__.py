"""Evidence: learn an ICP profile from closed deals and report how well a profile separates
won from lost (``icpsync learn`` / ``icpsync report``)."""
