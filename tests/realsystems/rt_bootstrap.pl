# Give RT's root user a password and an auth token, then set RT up for Backroom the way
# docs/rt-setup (README "Request Tracker") describes: the queues, the custom fields with their types
# and values, and a non-root user "backroom-bot" holding only the rights the tickets bot needs, with
# its own auth token. Uses RT's own libraries (run with RT_SITE_CONFIG/RT_SITE_CONFIG_DIR pointing at
# the test instance). Prints "root <token>" and "bot <token>", one a line.
use strict;
use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT;

RT::LoadConfig();
RT::Init();

my $password = shift @ARGV or die "usage: rt_bootstrap.pl PASSWORD [BOT_PASSWORD]\n";
my $bot_password = shift @ARGV || 'backroom-bot-password';
my $root = RT::User->new(RT->SystemUser);
$root->Load('root');
die "no root user\n" unless $root->Id;
my ($ok, $msg) = $root->SetPassword($password);
die "password: $msg\n" unless $ok;

sub token_for {
    my ($user, $what) = @_;
    my $token = RT::AuthToken->new(RT->SystemUser);  # the bot may not manage its own tokens
    my ($id, $text, $authstring) = $token->Create(Owner => $user->Id, Description => $what);
    die "token: $text\n" unless $id;
    return $authstring;
}

# -- queues: complaints come in, unhappy customers go to L2, archived tickets move to the archive
my @queues;
for my $name ('Complaints', 'Complaints-L2', 'Complaints-Archive') {
    my $queue = RT::Queue->new(RT->SystemUser);
    ($ok, $msg) = $queue->Create(Name => $name, Description => "Backroom: $name");
    die "queue $name: $msg\n" unless $ok;
    push @queues, $queue;
}

# -- the bot's user: privileged (REST2 needs it), rights on the three queues only
my $bot = RT::User->new(RT->SystemUser);
($ok, $msg) = $bot->Create(
    Name => 'backroom-bot', Password => $bot_password, Privileged => 1, EmailAddress => 'backroom-bot@backroom.test',
    Lang => 'en',  # the browser profile reads RT's English words (statuses, "(no value)", history)
);
die "user: $msg\n" unless $ok;
# the browser adapter types comments into a plain textarea (not CKEditor) and reads ISO dates
($ok, $msg) = $bot->SetPreferences(RT->System, { MessageBoxRichText => 0, DateTimeFormat => 'ISO' });
die "preferences: $msg\n" unless $ok;
# -- custom fields: name => [type, values or pattern]
my %select = (
    Category  => [qw(billing network refund delivery service)],
    Regulator => [qw(yes no)],
    Escalated => [qw(yes no)],
    VIP       => [qw(yes no)],
);
my %pattern = (Mobile => '(?#11 digits)^(1\d{10})?$', Amount => '(?#a number)^(\d+(\.\d{1,2})?)?$');
my @freeform = qw(CustomerName Mobile Landline IDCard OrderNo AccountNo Amount Product Urgency CallbackTime ReviewNeeded);
for my $name (@freeform, sort keys %select) {
    my $cf = RT::CustomField->new(RT->SystemUser);
    ($ok, $msg) = $cf->Create(
        Name       => $name,
        Type       => $select{$name} ? 'Select' : 'Freeform',
        MaxValues  => 1,
        LookupType => 'RT::Queue-RT::Ticket',
        ($pattern{$name} ? (Pattern => $pattern{$name}) : ()),
    );
    die "custom field $name: $msg\n" unless $ok;
    my $sort = 0;
    for my $value (@{ $select{$name} || [] }) {
        ($ok, $msg) = $cf->AddValue(Name => $value, SortOrder => $sort++);
        die "value $value of $name: $msg\n" unless $ok;
    }
    # reading a field's definition (type, values) through REST2 needs SeeCustomField on the field itself
    ($ok, $msg) = $bot->PrincipalObj->GrantRight(Right => 'SeeCustomField', Object => $cf);
    die "right SeeCustomField on $name: $msg\n" unless $ok;
    for my $queue (@queues) {
        ($ok, $msg) = $cf->AddToObject($queue);
        die "custom field $name on " . $queue->Name . ": $msg\n" unless $ok;
    }
}

my @rights = qw(SeeQueue ShowTicket ShowTicketComments ModifyTicket CommentOnTicket SeeCustomField
    ModifyCustomField CreateTicket);
for my $queue (@queues) {
    for my $right (@rights) {
        ($ok, $msg) = $bot->PrincipalObj->GrantRight(Right => $right, Object => $queue);
        die "right $right: $msg\n" unless $ok;
    }
}

print "root " . token_for($root, 'backroom tests') . "\n";
print "bot " . token_for($bot, 'backroom tickets bot') . "\n";
