// The MariaDB + Redis suite, with Redis the Cluster of three masters that cluster-setup.ts started
// (a test file's process.env is its own copy: this reaches this project's files only).
process.env.TEST_DRIVER = 'mysql';
process.env.OTPGATE_TEST_REDIS_URL = process.env.OTPGATE_CLUSTER_URL;
