def test_health_answers_without_a_key(client):
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "log_position": 0, "projection_position": 0}
