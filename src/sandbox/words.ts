// Vocabulary for realistic-looking records. Order matters: the generator picks by index, so editing a list changes data.
export const GIVEN_NAMES = ['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen', 'Christopher', 'Lisa', 'Daniel', 'Nancy', 'Matthew', 'Betty', 'Anthony', 'Margaret', 'Mark', 'Sandra', 'Donald', 'Ashley', 'Steven', 'Kimberly', 'Paul', 'Emily', 'Andrew', 'Donna', 'Joshua', 'Michelle', 'Kenneth', 'Carol', 'Kevin', 'Amanda', 'Brian', 'Dorothy', 'George', 'Melissa', 'Timothy', 'Deborah', 'Ronald', 'Stephanie', 'Edward', 'Rebecca', 'Jason', 'Sharon', 'Jeffrey', 'Laura', 'Ryan', 'Cynthia', 'Jacob', 'Kathleen', 'Gary', 'Amy', 'Nicholas', 'Angela', 'Eric', 'Shirley', 'Jonathan', 'Anna', 'Stephen', 'Brenda', 'Larry', 'Pamela', 'Justin', 'Emma', 'Scott', 'Nicole', 'Brandon', 'Helen', 'Benjamin', 'Samantha', 'Samuel', 'Katherine', 'Gregory', 'Christine', 'Alexander', 'Debra', 'Frank', 'Rachel', 'Patrick', 'Carolyn', 'Raymond', 'Janet', 'Jack', 'Catherine', 'Dennis', 'Maria', 'Jerry', 'Heather', 'José', 'Zoë', 'Łukasz', 'Søren', 'Renée', 'Nguyễn', 'Ana', 'Priya', 'Wei', 'Yuki', 'Olumide', 'Fatima'];
export const FAMILY_NAMES = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores', 'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts', 'Gomez', 'Phillips', 'Evans', 'Turner', 'Diaz', 'Parker', 'Cruz', 'Edwards', 'Collins', 'Reyes', 'Stewart', 'Morris', 'Morales', 'Murphy', 'Cook', 'Rogers', 'Gutierrez', 'Ortiz', 'Morgan', 'Cooper', 'Peterson', 'Bailey', 'Reed', 'Kelly', 'Howard', 'Ramos', 'Kim', 'Cox', 'Ward', 'Richardson', 'Watson', 'Brooks', 'Chavez', 'Wood', 'James', 'Bennett', 'Gray', 'Mendoza', 'Ruiz', 'Hughes', 'Price', 'Alvarez', 'Castillo', 'Sanders', 'Patel', 'Myers', 'Long', 'Ross', 'Foster', 'Jiménez', "O'Brien", 'Müller', 'Østergaard', 'Schäfer'];
export const MIDDLE_INITIALS = ['A', 'B', 'C', 'D', 'E', 'J', 'K', 'L', 'M', 'R', 'S', 'T'];
export const EMAIL_DOMAINS = ['gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'aol.com', 'proton.me', 'example.com', 'mail.com', 'fastmail.com'];
export const COMPANY_WORDS_A = ['Acme', 'Blue', 'Summit', 'Pioneer', 'Evergreen', 'Granite', 'Harbor', 'Keystone', 'Liberty', 'Maple', 'Northern', 'Oak', 'Pinnacle', 'Redwood', 'Silver', 'Sterling', 'Sunrise', 'Titan', 'Vertex', 'Willow', 'Apex', 'Beacon', 'Cedar', 'Falcon', 'Golden'];
export const COMPANY_WORDS_B = ['Consulting', 'Fitness', 'Dental', 'Realty', 'Coaching', 'Landscaping', 'Bakery', 'Marketing', 'Plumbing', 'Photography', 'Design', 'Law Group', 'Accounting', 'Yoga Studio', 'Auto Repair', 'Veterinary', 'Salon', 'Insurance', 'Roofing', 'Catering'];
export const COMPANY_SUFFIXES = ['LLC', 'Inc.', 'Co.', 'Group', 'Ltd.', ''];
export const JOB_TITLES = ['Owner', 'CEO', 'Marketing Manager', 'Office Manager', 'Sales Director', 'Consultant', 'Product Owner', 'Accountant', 'Coach', 'Designer', 'Engineer', 'Operations Lead', 'Founder', 'Assistant', 'Analyst'];
export const STREETS = ['Main St', 'Oak Ave', 'Maple Dr', 'Cedar Ln', 'Pine St', 'Elm St', 'Washington Blvd', 'Lake Rd', 'Hill St', 'Park Ave', 'Sunset Blvd', 'River Rd', 'Church St', 'Mill Rd', 'Highland Ave'];
/** [city, region (long name), region code, postal prefix] — US cities; country USA */
export const CITIES: readonly (readonly [string, string, string, string])[] = [
  ['Phoenix', 'Arizona', 'US-AZ', '850'], ['Chandler', 'Arizona', 'US-AZ', '852'], ['Denver', 'Colorado', 'US-CO', '802'],
  ['Austin', 'Texas', 'US-TX', '787'], ['Dallas', 'Texas', 'US-TX', '752'], ['Seattle', 'Washington', 'US-WA', '981'],
  ['Portland', 'Oregon', 'US-OR', '972'], ['Boise', 'Idaho', 'US-ID', '837'], ['Chicago', 'Illinois', 'US-IL', '606'],
  ['Columbus', 'Ohio', 'US-OH', '432'], ['Atlanta', 'Georgia', 'US-GA', '303'], ['Miami', 'Florida', 'US-FL', '331'],
  ['Orlando', 'Florida', 'US-FL', '328'], ['Nashville', 'Tennessee', 'US-TN', '372'], ['Boston', 'Massachusetts', 'US-MA', '021'],
  ['New York', 'New York', 'US-NY', '100'], ['San Diego', 'California', 'US-CA', '921'], ['Sacramento', 'California', 'US-CA', '958'],
  ['Salt Lake City', 'Utah', 'US-UT', '841'], ['Minneapolis', 'Minnesota', 'US-MN', '554'],
];
export const AREA_CODES = ['480', '602', '303', '512', '214', '206', '503', '208', '312', '614', '404', '305', '407', '615', '617', '212', '619', '916', '801', '612'];
export const TIME_ZONES = ['America/Phoenix', 'America/Denver', 'America/Chicago', 'America/New_York', 'America/Los_Angeles'];
export const LOCALES = ['en_US', 'en_US', 'en_US', 'es_US', 'en_CA', 'fr_CA'];
export const TAG_CATEGORIES = ['Lead Status', 'Interests', 'Customer Type', 'Events', 'Nurture', 'Products Purchased', 'Source', 'Region'];
export const TAG_WORDS = ['Hot Lead', 'Cold Lead', 'Newsletter', 'Webinar Attendee', 'VIP', 'Customer', 'Prospect', 'Referral', 'Trial User', 'Churned', 'Yoga', 'Nutrition', 'Coaching', 'Workshop 2023', 'Workshop 2024', 'Black Friday', 'Downloaded Ebook', 'Requested Quote', 'Partner', 'Do Not Call'];
export const PRODUCT_WORDS = ['Starter Kit', 'Premium Membership', 'Coaching Session', 'Online Course', 'Consultation', 'Gift Card', 'T-Shirt', 'Water Bottle', 'Workshop Ticket', 'Monthly Box', 'E-book', 'Annual Plan', 'Strategy Call', 'Template Pack', 'Mastermind'];
export const CAMPAIGN_WORDS = ['Welcome Sequence', 'Lead Nurture', 'Webinar Follow-up', 'Abandoned Cart', 'Re-engagement', 'Customer Onboarding', 'Holiday Promo', 'Referral Program', 'Birthday Greetings', 'Appointment Reminders'];
export const TASK_TITLES = ['Call back', 'Send proposal', 'Follow up on quote', 'Schedule demo', 'Check in', 'Send invoice', 'Confirm appointment', 'Review contract', 'Thank-you note', 'Renewal reminder'];
export const NOTE_TITLES = ['Phone call', 'Meeting notes', 'Email summary', 'Left voicemail', 'Interested in upgrade', 'Complaint resolved', 'Asked about pricing', 'Referral received'];
export const LOREM = ['Customer asked about pricing for the annual plan.', 'Left a voicemail, will try again Tuesday.', 'Very interested, wants a demo next week.', 'Prefers email over phone.', 'Mentioned a referral from a friend.', 'Needs approval from their manager.', 'Discussed the onboarding timeline.', 'Requested a callback after 3pm.'];
export const EMAIL_SUBJECTS = ['Welcome aboard!', 'Your receipt', 'Quick question', 'Don\'t miss our webinar', 'Your appointment is confirmed', 'We miss you', 'Special offer inside', 'Monthly newsletter', 'Invoice reminder', 'Thanks for your purchase'];
export const OPPORTUNITY_WORDS = ['Website redesign', 'Annual coaching', 'Bulk order', 'Consulting retainer', 'Software rollout', 'Event sponsorship', 'Team training', 'Marketing package'];
export const STAGE_NAMES = ['New Opportunity', 'Qualified', 'Proposal Sent', 'Negotiation', 'Closed Won', 'Closed Lost'];
export const FILE_NAMES = ['contract', 'invoice', 'photo', 'proposal', 'logo', 'receipt', 'brochure', 'agreement'];
export const FILE_EXTS = ['pdf', 'png', 'jpg', 'docx', 'xlsx'];
export const LEAD_SOURCES = ['Website', 'Referral', 'Facebook Ad', 'Google Ads', 'Trade Show', 'Cold Call', 'Webinar', 'Instagram'];
/** [medium, vendor, category index] per lead source, in LEAD_SOURCES order */
export const LEAD_SOURCE_DETAILS: readonly (readonly [string, string | null, number])[] = [
  ['web', null, 1], ['word of mouth', null, 3], ['social', 'Meta', 2], ['search', 'Google', 2], ['event', 'Expo Partners', 3], ['phone', null, 3], ['web', 'Zoom', 1], ['social', 'Meta', 2],
];
export const LEAD_SOURCE_CATEGORIES = ['Organic', 'Paid', 'Offline'];
