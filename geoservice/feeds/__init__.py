"""Feeds: the public Atom feed of designations, the legal staff's iCalendar of deadlines, and signed webhooks
fed by the transactional outbox (migrations/0151_feed_outbox.sql)."""
