"""People: detection, faces, body appearance, tracking (the people stage)."""
