-- 002: look up an entity's history (GET /v1/audit?entity=order&id=…) without scanning the trail.
CREATE INDEX audit_by_entity ON audit(entity, entity_id, seq);
