fn main() {
    std::process::exit(kmsconform::cli::main());
}
