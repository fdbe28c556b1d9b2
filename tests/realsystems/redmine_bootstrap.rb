# Run by `rails runner` inside a test instance of Redmine, after `rake db:migrate`: seed Redmine's
# default data (trackers, statuses, priorities, roles: what `rake redmine:load_default_data` does;
# in the migrating process itself it would see stale models), enable the REST API, add the 'Backroom key'
# issue custom field and give admin a known password and an API key (printed last), all with Redmine's own models.
password = ARGV.fetch(0)
Redmine::DefaultData::Loader.load('en') if Redmine::DefaultData::Loader.no_data?
Setting.rest_api_enabled = '1'
admin = User.find_by!(login: 'admin')
admin.password = password
admin.password_confirmation = password
admin.must_change_passwd = false
admin.save!
# Where a migration keeps its source key in Redmine (a filterable text field on every tracker), so a
# run killed between a create and saving the new id finds the issue instead of creating it twice.
unless IssueCustomField.exists?(name: 'Backroom key')
  IssueCustomField.create!(name: 'Backroom key', field_format: 'string', is_for_all: true, is_filter: true,
                           searchable: true, visible: true, trackers: Tracker.all)
end
puts admin.api_key
