public enum MonCoreVersion { public static let string = "0.1.0" }
