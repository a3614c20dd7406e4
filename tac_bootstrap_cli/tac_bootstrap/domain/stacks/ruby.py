"""Ruby: bundler; Rails or Sinatra."""

from __future__ import annotations

from .model import NO_FRAMEWORK, FrameworkSpec, LanguageSpec, PackageManagerSpec

RUBY = LanguageSpec(
    name="ruby",
    display_name="Ruby",
    ecosystem="ruby",
    detection_rank=5,
    markers=("Gemfile",),
    package_managers=(
        PackageManagerSpec(
            "bundler",
            executable="bundle",
            lock_files=("Gemfile.lock",),
            add_dependency="bundle add",
        ),
    ),
    frameworks=(
        NO_FRAMEWORK,
        FrameworkSpec(
            "rails",
            "Rails",
            notes="- Rails: models, controllers and views live under `app/`, routes in"
            " `config/routes.rb`; schema\n  changes need a migration (`bin/rails generate"
            " migration ...`, then `bin/rails db:migrate`).",
            commands={"start": "bundle exec rails server", "test": "bundle exec rails test"},
        ),
        FrameworkSpec(
            "sinatra",
            "Sinatra",
            notes='- Sinatra: routes are `get "/path" do ... end` blocks on the application; test'
            " them in-process\n  with `Rack::Test`.",
            commands={"start": "bundle exec rackup"},
        ),
    ),
    # Gem names in the Gemfile or a root *.gemspec.
    framework_markers=(("rails", "rails"), ("railties", "rails"), ("sinatra", "sinatra")),
    commands={
        "install": "bundle install",
        "start": "bundle exec ruby main.rb",
        "test": "bundle exec rspec",
        "lint": "bundle exec rubocop",
        "format": "bundle exec rubocop -a",
    },
    source_ext="rb",
    test_location="`spec/<module>_spec.rb` (RSpec) or `test/<module>_test.rb` (Minitest)",
    doc_comments="YARD/RDoc comments",
    notes_template="stacks/_ruby.md.j2",
)
