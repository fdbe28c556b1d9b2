# Give RT's root user a password and an auth token, using RT's own libraries (run with
# RT_SITE_CONFIG/RT_SITE_CONFIG_DIR pointing at the test instance). Prints the token.
use strict;
use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT;

RT::LoadConfig();
RT::Init();

my $password = shift @ARGV or die "usage: rt_bootstrap.pl PASSWORD\n";
my $root = RT::User->new(RT->SystemUser);
$root->Load('root');
die "no root user\n" unless $root->Id;
my ($ok, $msg) = $root->SetPassword($password);
die "password: $msg\n" unless $ok;

my $token = RT::AuthToken->new(RT::CurrentUser->new($root));
my ($id, $text, $authstring) = $token->Create(Owner => $root->Id, Description => 'backroom tests');
die "token: $text\n" unless $id;
print "$authstring\n";
