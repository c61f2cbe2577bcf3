// A MongoDB-wire-protocol server for local development and tests: mongo-java-server with
// its H2 MVStore backend, so data survives a restart. Not for production (use MongoDB).
// Usage (data-file "memory": nothing is kept): java -cp "<jars>:<classes>" MongoServerMain <host> <port> <data-file>
import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.TypedH2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

public final class MongoServerMain {
    /**
     * MVStore's page cache, in MB (H2's default is 16). Every index lookup that misses it reads
     * the page back from the file and deserializes it; with the default, a working set of a few
     * tens of thousands of documents misses on most lookups. A real MongoDB keeps its working set
     * in a cache of half the memory.
     */
    private static final int CACHE_MB = 512;

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: MongoServerMain <host> <port> <data-file>");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        MongoBackend backend = args[2].equals("memory")
            ? new MemoryBackend()
            : TypedH2Backend.open(args[2], CACHE_MB);
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
