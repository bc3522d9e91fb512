-- hsi.db as schema version 4 created it (before event titles), for the upgrade tests.
CREATE TABLE schema_version (
	version INTEGER NOT NULL,
	PRIMARY KEY (version)
);
CREATE TABLE cameras (
	id VARCHAR(255) NOT NULL,
	name VARCHAR(255) NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id)
);
CREATE TABLE images (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	camera_id VARCHAR(255) NOT NULL,
	path TEXT NOT NULL,
	size INTEGER NOT NULL,
	mtime FLOAT NOT NULL,
	captured_at DATETIME NOT NULL,
	state VARCHAR(16) NOT NULL,
	attempts INTEGER NOT NULL,
	last_error TEXT,
	updated_at DATETIME NOT NULL,
	UNIQUE (path)
);
CREATE INDEX ix_images_state ON images (state);
CREATE INDEX ix_images_camera_id ON images (camera_id);
CREATE TABLE batches (
	id VARCHAR(64) NOT NULL,
	camera_id VARCHAR(255) NOT NULL,
	state VARCHAR(16) NOT NULL,
	started_at DATETIME NOT NULL,
	last_activity DATETIME NOT NULL,
	closed_at DATETIME,
	PRIMARY KEY (id)
);
CREATE INDEX ix_batches_camera_id ON batches (camera_id);
CREATE INDEX ix_batches_state ON batches (state);
CREATE TABLE events (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	batch_id VARCHAR(64) NOT NULL,
	camera_id VARCHAR(255) NOT NULL,
	started_at DATETIME NOT NULL,
	ended_at DATETIME NOT NULL,
	risk_score INTEGER,
	risk_level VARCHAR(16),
	summary TEXT NOT NULL,
	reasoning TEXT NOT NULL,
	analysis_status VARCHAR(16) NOT NULL,
	created_at DATETIME NOT NULL,
	reviewed BOOLEAN NOT NULL,
	note TEXT,
	snoozed BOOLEAN NOT NULL,
	prior_score INTEGER,
	llm_score INTEGER,
	llm_adjustment INTEGER,
	factors TEXT,
	llm_belief TEXT,
	UNIQUE (batch_id)
);
CREATE INDEX ix_events_camera_time ON events (camera_id, started_at, id);
CREATE INDEX ix_events_created_at ON events (created_at);
CREATE TABLE detections (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	image_id INTEGER NOT NULL,
	camera_id VARCHAR(255) NOT NULL,
	object_type VARCHAR(64) NOT NULL,
	confidence FLOAT NOT NULL,
	bbox_x INTEGER NOT NULL,
	bbox_y INTEGER NOT NULL,
	bbox_width INTEGER NOT NULL,
	bbox_height INTEGER NOT NULL,
	detected_at DATETIME NOT NULL,
	thumbnail_path TEXT,
	batch_id VARCHAR(64),
	FOREIGN KEY(image_id) REFERENCES images (id) ON DELETE CASCADE
);
CREATE INDEX ix_detections_image_id ON detections (image_id);
CREATE INDEX ix_detections_camera_time ON detections (camera_id, detected_at);
CREATE INDEX ix_detections_batch_id ON detections (batch_id);
CREATE TABLE event_detections (
	event_id INTEGER NOT NULL,
	detection_id INTEGER NOT NULL,
	PRIMARY KEY (event_id, detection_id),
	FOREIGN KEY(event_id) REFERENCES events (id) ON DELETE CASCADE,
	FOREIGN KEY(detection_id) REFERENCES detections (id) ON DELETE CASCADE
);
