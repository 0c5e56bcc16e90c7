-- Whether a call's forwarded leg answered is known (a dial result, the last number's own end, a voicemail, or nothing was
-- dialed): an ended call is reported completed or missed only then. Calls recorded before this were settled at their end.
ALTER TABLE callmesh.calls ADD COLUMN dial_ended boolean NOT NULL DEFAULT true;
