// A MongoDB-wire-protocol server for local development and tests: mongo-java-server with
// its H2 MVStore backend, so data survives a restart. Not for production (use MongoDB).
// Usage (data-file "memory": nothing is kept): java -cp "<jars>:<classes>" MongoServerMain <host> <port> <data-file>
import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

public final class MongoServerMain {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: MongoServerMain <host> <port> <data-file>");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        MongoBackend backend = args[2].equals("memory") ? new MemoryBackend() : new H2Backend(args[2]);
        MongoServer server = new MongoServer(backend);
        server.bind(host, port);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown();
            backend.close();
        }));
        System.out.println("mongo-java-server listening on " + host + ":" + port + " data " + args[2]);
        Thread.currentThread().join();
    }
}
