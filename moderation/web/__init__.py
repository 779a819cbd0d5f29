"""What people and API clients reach: the public pages, the REST API and the moderators' admin."""
