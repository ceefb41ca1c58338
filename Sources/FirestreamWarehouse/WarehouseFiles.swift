/// Where the warehouse keeps its files inside a project's data directory.
public enum WarehouseFiles {
    /// The SQLite database of the declared tables (and the offsets they consumed).
    public static func tables(in dataDirectory: String) -> String { dataDirectory + "/warehouse.sqlite" }
}
