/// The agent's top-keys snapshot of a Redis key walk, as stored in `events`: one per
/// completed walk, under one key, so the daemon reads the latest per host.
public enum RedisTopKeysEvent {
    public static let kind = "redis_top_keys"
    public static let key = "top_keys"
}
