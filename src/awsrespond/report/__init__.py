"""Reports of a case: HTML, Markdown, JSON, CSV, OCSF, ASFF, and the text for AWS."""
