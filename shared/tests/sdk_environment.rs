//! The AWS set-up takes Lambda's environment at its word (config.rs `sdk_config`): with the
//! region and credentials in environment variables, as Lambda sets them, no shared config file is
//! read; without them, the SDK's default chains run and do read it. A test binary of its own: it
//! sets process environment variables, before anything else runs.

use keygate::adapters::aws::sdk_config;
use keygate::adapters::tls::TlsRoots;
use keygate::config::AwsCallConfig;

#[test]
fn with_lambdas_environment_no_shared_config_file_is_read() {
    let dir = std::env::temp_dir().join(format!("keygate-sdk-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let config_file = dir.join("config");
    // A setting only the file makes: FIPS endpoints.
    std::fs::write(&config_file, "[default]\nuse_fips_endpoint = true\n").expect("written");
    // SAFETY: the only test of this binary sets them first, before it starts any thread.
    unsafe {
        std::env::set_var("AWS_CONFIG_FILE", &config_file);
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"));
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::remove_var("AWS_USE_FIPS_ENDPOINT");
        std::env::remove_var("AWS_PROFILE");
        std::env::set_var("AWS_REGION", "eu-west-3");
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let calls = AwsCallConfig::default();
    let roots = TlsRoots::default();

    let lambda = runtime.block_on(sdk_config(&calls, &roots));
    assert_eq!(lambda.region().map(|r| r.as_ref()), Some("eu-west-3"));
    assert_eq!(lambda.use_fips(), None, "the config file was not read");
    let credentials = runtime
        .block_on(async {
            use aws_sdk_dynamodb::config::ProvideCredentials;
            match lambda.credentials_provider() {
                Some(p) => p.provide_credentials().await.map_err(|e| e.to_string()),
                None => Err("no credentials provider".into()),
            }
        })
        .expect("credentials from the environment");
    assert_eq!(credentials.access_key_id(), "AKIDENVIRONMENT");

    // Without credentials in the environment (a developer's shell), the default chains run and
    // the file's settings apply.
    // SAFETY: as above; the runtime's thread is idle between the two set-ups.
    unsafe {
        std::env::remove_var("AWS_ACCESS_KEY_ID");
        std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    }
    let shell = runtime.block_on(sdk_config(&calls, &roots));
    assert_eq!(shell.region().map(|r| r.as_ref()), Some("eu-west-3"));
    assert_eq!(shell.use_fips(), Some(true), "the config file was read");
    let _ = std::fs::remove_dir_all(&dir);
}
