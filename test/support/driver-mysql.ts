process.env.TEST_DRIVER = 'mysql';
