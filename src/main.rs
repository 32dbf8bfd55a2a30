fn main() {
    std::process::exit(planrun::cli::run(std::env::args_os().collect()));
}
