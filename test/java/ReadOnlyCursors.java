// pgjdbc in read-only transactions with fetch-size cursors, as Metabase and DBeaver run them. Run with the
// single-file source launcher:
//   java -cp /usr/share/java/postgresql.jar test/java/ReadOnlyCursors.java <port> <database> <user>
// Prints one JSON object per line: {"check": name, "value": …} or {"check": name, "error": "SQLSTATE: message"}.
// The values hold only what both servers must agree on (row counts and sums of ids), so
// test/read-only-transactions.test.ts runs this against keapgres and a real PostgreSQL and compares.
import java.sql.*;
import java.util.*;

public class ReadOnlyCursors {
  interface Check { Object run() throws Exception; }

  static String url;
  static String user;

  public static void main(String[] args) throws Exception {
    url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/" + args[1];
    user = args[2];
    report("metabase: a finished fetch-size cursor, then another table", ReadOnlyCursors::finishedThenAnother);
    report("dbeaver: an open 200-row cursor while another table is read", ReadOnlyCursors::openWhileAnother);
    report("the transaction stays read-only and keeps its isolation", ReadOnlyCursors::staysReadOnly);
    report("the next transaction reads the same rows", ReadOnlyCursors::nextTransaction);
  }

  static Connection connect() throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("password", "");
    Connection c = DriverManager.getConnection(url, p);
    c.setAutoCommit(false);
    c.setReadOnly(true); // pgjdbc: BEGIN READ ONLY for each transaction
    return c;
  }

  /** [rows, sum of the first column] of a result read to the end. */
  static List<Long> drain(ResultSet rs) throws SQLException {
    long n = 0, sum = 0;
    while (rs.next()) {
      n++;
      sum += rs.getLong(1);
    }
    return Arrays.asList(n, sum);
  }

  static Object finishedThenAnother() throws Exception {
    try (Connection c = connect()) {
      List<Object> out = new ArrayList<>();
      try (Statement s = c.createStatement()) {
        s.setFetchSize(500);
        out.add(drain(s.executeQuery("SELECT id, email FROM \"public\".\"contacts\"")));
      }
      try (Statement s = c.createStatement()) {
        s.setFetchSize(500);
        out.add(drain(s.executeQuery("SELECT \"id\", \"contact_id\" FROM \"public\".\"orders\" WHERE \"id\" > 3")));
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM tags WHERE id > ?")) {
        ps.setInt(1, 0);
        out.add(drain(ps.executeQuery()));
      }
      c.commit();
      return out;
    }
  }

  static Object openWhileAnother() throws Exception {
    try (Connection c = connect()) {
      List<Object> out = new ArrayList<>();
      Statement grid = c.createStatement();
      grid.setFetchSize(200);
      ResultSet rs = grid.executeQuery("SELECT id FROM public.contacts ORDER BY id");
      long n = 0, sum = 0;
      while (n < 200 && rs.next()) {
        n++;
        sum += rs.getLong(1);
      }
      out.add(Arrays.asList(n, sum));
      try (Statement other = c.createStatement()) {
        other.setFetchSize(200);
        out.add(drain(other.executeQuery("SELECT id, name FROM public.tags")));
      }
      try (Statement other = c.createStatement()) {
        out.add(drain(other.executeQuery("SELECT o.id, c.email FROM orders o JOIN contacts c ON c.id = o.contact_id")));
      }
      while (rs.next()) {
        n++;
        sum += rs.getLong(1);
      }
      out.add(Arrays.asList(n, sum));
      rs.close();
      grid.close();
      c.commit();
      return out;
    }
  }

  static Object staysReadOnly() throws Exception {
    try (Connection c = connect()) {
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      List<Object> out = new ArrayList<>();
      Statement grid = c.createStatement();
      grid.setFetchSize(50);
      ResultSet rs = grid.executeQuery("SELECT id FROM contacts");
      rs.next();
      try (Statement s = c.createStatement()) {
        out.add(drain(s.executeQuery("SELECT id FROM notes")));
        try (ResultSet m = s.executeQuery("SELECT current_setting('transaction_read_only'), current_setting('transaction_isolation')")) {
          m.next();
          out.add(m.getString(1) + " " + m.getString(2));
        }
      }
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE scratch_write (a int)");
        out.add("written");
      } catch (SQLException e) {
        out.add("ERROR " + e.getSQLState());
      }
      c.rollback();
      return out;
    }
  }

  static Object nextTransaction() throws Exception {
    try (Connection c = connect()) {
      List<Object> out = new ArrayList<>();
      for (int round = 0; round < 2; round++) {
        Statement grid = c.createStatement();
        grid.setFetchSize(100);
        ResultSet rs = grid.executeQuery("SELECT id FROM contacts");
        rs.next();
        try (Statement s = c.createStatement()) {
          out.add(drain(s.executeQuery("SELECT id FROM notes")));
        }
        rs.close();
        grid.close();
        if (round == 0) c.commit();
        else c.rollback();
      }
      c.setAutoCommit(true);
      try (Statement s = c.createStatement()) {
        out.add(drain(s.executeQuery("SELECT id FROM notes")));
      }
      return out;
    }
  }

  static void report(String name, Check check) {
    String body;
    try {
      body = "\"value\":" + json(check.run());
    } catch (SQLException e) {
      body = "\"error\":" + json(e.getSQLState() + ": " + e.getMessage());
    } catch (Exception e) {
      body = "\"error\":" + json(e.toString());
    }
    System.out.println("{\"check\":" + json(name) + "," + body + "}");
  }

  static String json(Object v) {
    if (v == null) return "null";
    if (v instanceof Number || v instanceof Boolean) return v.toString();
    if (v instanceof List<?> l) {
      StringBuilder b = new StringBuilder("[");
      for (int i = 0; i < l.size(); i++) b.append(i > 0 ? "," : "").append(json(l.get(i)));
      return b.append("]").toString();
    }
    String s = v.toString();
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      if (ch == '"' || ch == '\\') b.append('\\').append(ch);
      else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
      else b.append(ch);
    }
    return b.append("\"").toString();
  }
}
