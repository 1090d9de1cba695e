-- The brand's public replies name the post they answer by its platform id (a Mastodon URI, a Bluesky at:// URI).
CREATE INDEX post_by_platform_id ON post(platform, post_id);
