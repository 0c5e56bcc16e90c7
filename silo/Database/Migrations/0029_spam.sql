-- Spam calls (a blocked caller's, or a caller's repeated very short ones): kept and listed, never qualified.
ALTER TABLE callmesh.calls ADD COLUMN spam boolean NOT NULL DEFAULT false;
