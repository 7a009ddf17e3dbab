// pgjdbc writing to Keap tables through keapgres, as DBeaver saves an edited cell and as applications run
// prepared statements. Run with the single-file source launcher:
//   java -cp /usr/share/java/postgresql.jar test/java/JdbcWrites.java <port>
// With a second argument `batch`: executeBatch of several writes in autocommit instead.
// Prints one JSON object per line: {"check": name, "value": …} or {"check": name, "error": "SQLSTATE: message"}.
import java.sql.*;
import java.util.*;

public class JdbcWrites {
  interface Check { Object run() throws Exception; }

  static String url;

  public static void main(String[] args) throws Exception {
    url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/keap";
    if (args.length > 1 && args[1].equals("batch")) {
      report("executeBatch of a prepared UPDATE", JdbcWrites::batchUpdates);
      report("executeBatch: the second statement sees the first's row", JdbcWrites::batchSameRow);
      report("executeBatch of INSERT, UPDATE and DELETE on three tables", JdbcWrites::batchMixed);
      report("executeBatch of a prepared INSERT with generated keys", JdbcWrites::batchGeneratedKeys);
      report("executeBatch with a statement Keap refuses", JdbcWrites::batchFailure);
      return;
    }
    report("prepared update run 7 times (a named, then binary, server statement)", JdbcWrites::preparedUpdates);
    report("update returning", JdbcWrites::updateReturning);
    report("insert with generated keys", JdbcWrites::insertGeneratedKeys);
    report("autocommit off refuses", JdbcWrites::autocommitOff);
    report("read-only connection refuses", JdbcWrites::readOnly);
  }

  static Connection connect() throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "tester");
    p.setProperty("password", "");
    return DriverManager.getConnection(url, p);
  }

  /** DBeaver's save of an edited cell: UPDATE … SET col=? WHERE id=?, once per edited row. */
  static Object preparedUpdates() throws Exception {
    try (Connection c = connect(); PreparedStatement ps = c.prepareStatement("UPDATE contacts SET job_title = ? WHERE id = ?")) {
      List<Integer> counts = new ArrayList<>();
      for (int i = 0; i < 7; i++) {
        ps.setString(1, "JDBC title " + (200 + i));
        ps.setLong(2, 200 + i);
        counts.add(ps.executeUpdate());
      }
      return counts;
    }
  }

  static Object updateReturning() throws Exception {
    try (Connection c = connect(); PreparedStatement ps = c.prepareStatement("UPDATE tags SET description = ? WHERE id = ? RETURNING id, description, update_time")) {
      ps.setString(1, "from pgjdbc");
      ps.setInt(2, 5);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return List.of(rs.getLong(1), rs.getString(2), rs.getTimestamp(3).getTime());
      }
    }
  }

  static Object insertGeneratedKeys() throws Exception {
    try (Connection c = connect(); PreparedStatement ps = c.prepareStatement("INSERT INTO tasks (title, contact_id) VALUES (?, ?)", new String[] { "id" })) {
      ps.setString(1, "Follow up (pgjdbc)");
      ps.setLong(2, 12);
      int n = ps.executeUpdate();
      try (ResultSet rs = ps.getGeneratedKeys()) {
        rs.next();
        return List.of(n, rs.getLong(1));
      }
    }
  }

  static Object autocommitOff() throws Exception {
    try (Connection c = connect()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.executeUpdate("UPDATE contacts SET suffix = 'III' WHERE id = 210");
        return "written";
      } catch (SQLException e) {
        c.rollback();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) { rs.next(); }
        return e.getSQLState();
      }
    }
  }

  static Object readOnly() throws Exception {
    try (Connection c = connect()) {
      c.setAutoCommit(false);
      c.setReadOnly(true); // BEGIN READ ONLY before each transaction
      try (Statement s = c.createStatement()) {
        s.executeUpdate("UPDATE contacts SET suffix = 'IV' WHERE id = 211");
        return "written";
      } catch (SQLException e) {
        return e.getSQLState();
      }
    }
  }

  /** A prepared UPDATE added 5 times and sent as one batch (one Sync), in autocommit. */
  static Object batchUpdates() throws Exception {
    try (Connection c = connect(); PreparedStatement ps = c.prepareStatement("UPDATE contacts SET job_title = ? WHERE id = ?")) {
      for (int i = 0; i < 5; i++) {
        ps.setString(1, "Batch title " + (220 + i));
        ps.setLong(2, 220 + i);
        ps.addBatch();
      }
      List<Integer> counts = new ArrayList<>();
      for (int n : ps.executeBatch()) counts.add(n);
      return counts;
    }
  }

  /** Each statement of a batch works on what the ones before it left, as PostgreSQL runs them. */
  static Object batchSameRow() throws Exception {
    try (Connection c = connect(); PreparedStatement ps = c.prepareStatement("UPDATE contacts SET job_title = coalesce(job_title, '') || ? WHERE id = ?")) {
      for (String part : new String[] { "<a>", "<b>", "<c>" }) {
        ps.setString(1, part);
        ps.setLong(2, 226);
        ps.addBatch();
      }
      List<Integer> counts = new ArrayList<>();
      for (int n : ps.executeBatch()) counts.add(n);
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT job_title FROM contacts WHERE id = 226")) {
        rs.next();
        return List.of(counts, rs.getString(1));
      }
    }
  }

  static Object batchMixed() throws Exception {
    try (Connection c = connect(); Statement s = c.createStatement()) {
      s.addBatch("INSERT INTO notes (contact_id, title, text) VALUES (14, 'Batch note', 'written in a pgjdbc batch')");
      s.addBatch("UPDATE tags SET description = 'batch description' WHERE id IN (6, 7)");
      s.addBatch("DELETE FROM tasks WHERE id = 4");
      List<Integer> counts = new ArrayList<>();
      for (int n : s.executeBatch()) counts.add(n);
      return counts;
    }
  }

  static Object batchGeneratedKeys() throws Exception {
    try (Connection c = connect(); PreparedStatement ps = c.prepareStatement("INSERT INTO tasks (title, contact_id) VALUES (?, ?)", new String[] { "id", "title" })) {
      for (int i = 0; i < 3; i++) {
        ps.setString(1, "Batch task " + i);
        ps.setLong(2, 15 + i);
        ps.addBatch();
      }
      List<Object> out = new ArrayList<>();
      List<Integer> counts = new ArrayList<>();
      for (int n : ps.executeBatch()) counts.add(n);
      out.add(counts);
      try (ResultSet rs = ps.getGeneratedKeys()) {
        while (rs.next()) out.add(List.of(rs.getLong(1), rs.getString(2)));
      }
      return out;
    }
  }

  /** The second of three statements fails at Keap: the first stays written, the third is not sent. */
  static Object batchFailure() throws Exception {
    try (Connection c = connect()) {
      try (Statement s = c.createStatement()) {
        s.addBatch("UPDATE contacts SET job_title = 'Batch kept' WHERE id = 230");
        s.addBatch("INSERT INTO contacts (given_name, email) VALUES ('X', 'not an email')");
        s.addBatch("UPDATE contacts SET job_title = 'Batch never' WHERE id = 232");
        s.executeBatch();
        return "no error";
      } catch (BatchUpdateException e) {
        List<Integer> counts = new ArrayList<>();
        for (int n : e.getUpdateCounts()) counts.add(n);
        SQLException cause = e.getNextException() != null ? e.getNextException() : e;
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT job_title FROM contacts WHERE id = 230")) {
          rs.next();
          return List.of(e.getSQLState(), counts, cause.getMessage(), rs.getString(1));
        }
      }
    }
  }

  static void report(String name, Check check) {
    String line;
    try {
      line = "{\"check\":" + json(name) + ",\"value\":" + value(check.run()) + "}";
    } catch (SQLException e) {
      line = "{\"check\":" + json(name) + ",\"error\":" + json(e.getSQLState() + ": " + e.getMessage()) + "}";
    } catch (Exception e) {
      line = "{\"check\":" + json(name) + ",\"error\":" + json(e.toString()) + "}";
    }
    System.out.println(line);
  }

  static String value(Object o) {
    if (o == null) return "null";
    if (o instanceof List<?> l) {
      StringBuilder b = new StringBuilder("[");
      for (int i = 0; i < l.size(); i++) b.append(i == 0 ? "" : ",").append(value(l.get(i)));
      return b.append("]").toString();
    }
    if (o instanceof Number) return o.toString();
    return json(o.toString());
  }

  static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      if (ch == '"' || ch == '\\') b.append('\\').append(ch);
      else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
      else b.append(ch);
    }
    return b.append('"').toString();
  }
}
