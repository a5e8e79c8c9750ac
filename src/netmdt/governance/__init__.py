"""Clinical governance of the knowledge base: review records bound to the content
reviewed, local settings, releases, the worklist and the governance report
(docs/governance.md)."""
