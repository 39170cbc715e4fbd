/// The version `omnia version` prints and `/healthz` reports.
public enum OmniaVersion {
    public static let current = "0.1.0"
}
