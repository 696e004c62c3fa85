// The MariaDB + Redis suite, with Redis a Cluster of three masters (see cluster-setup.ts).
process.env.TEST_DRIVER = 'mysql';
