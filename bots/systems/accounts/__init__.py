"""Account directories: the systems where an employee has a login (helpdesk, CRM, company directory)."""
